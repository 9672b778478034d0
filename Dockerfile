# Image of the two workers (and the CLI). Build: docker build -t interests .
FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    INTERESTS_CACHE=/var/lib/interests
WORKDIR /app
COPY requirements.lock requirements-nodeps.lock ./
RUN pip install -r requirements.lock && pip install --no-deps -r requirements-nodeps.lock
COPY pyproject.toml README.md interests_cli.py ./
COPY schemas schemas
COPY streams streams
COPY models models
COPY training training
COPY feature_repo feature_repo
RUN pip install --no-deps --no-build-isolation . && interests model convert
ENTRYPOINT ["interests"]
