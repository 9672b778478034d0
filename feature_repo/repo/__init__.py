"""The Feast repository: ``definitions.py`` and ``feature_store.yaml``, nothing else (``feast apply`` in this folder
reads every Python file here). The code that uses them is one level up."""
