"""The generator worker: regeneration requests from Kafka -> the query generator -> the Feast online store."""
