"""What every package may use: settings from the environment, cache paths, dead-letter headers, the Prometheus
endpoint and ranking metrics. It imports no other package of the project."""
