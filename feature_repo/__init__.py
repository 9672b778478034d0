"""The Feast repository: definitions (entity, push source, feature view, feature service), the store config, and
helpers to open the store, apply the definitions, push rows and read what a ranker reads."""
