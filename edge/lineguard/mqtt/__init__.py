"""Central reporting over MQTT: topics, store-and-forward outbox, the device agent,
remote settings, commands and signed updates. See ``docs/mqtt.md``."""
