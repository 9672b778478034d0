# Image of the workers, the feature server and the CLI. Build: docker build -t interests .
# The generator's GPU image adds vLLM: docker build --build-arg WITH_VLLM=1 -t interests-gpu .
FROM python:3.11-slim
ARG WITH_VLLM=0
ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    INTERESTS_CACHE=/var/lib/interests
WORKDIR /app
COPY requirements.lock requirements-nodeps.lock ./
RUN pip install -r requirements.lock && pip install --no-deps -r requirements-nodeps.lock
# vllm 0.32.0 pins torch 2.13.0 and transformers <5.20, which the lock already has (see DESIGN.md)
RUN if [ "$WITH_VLLM" = "1" ]; then pip install "vllm==0.32.0"; fi
COPY pyproject.toml README.md ./
COPY interests_cli interests_cli
COPY common common
COPY schemas schemas
COPY streams streams
COPY models models
COPY training training
COPY feature_repo feature_repo
RUN pip install --no-deps --no-build-isolation . && interests model convert
# 6066 Faust web, 9108 stream metrics, 9109 generator metrics, 6566 Feast feature server
EXPOSE 6066 9108 9109 6566
ENTRYPOINT ["interests"]
