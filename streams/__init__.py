"""The stream side: the local Kafka broker, event validation, per-user histories, interest vectors, drift, and the
Faust app that ties them together. Pure logic (``events``, ``history``, ``drift``) imports no framework."""
