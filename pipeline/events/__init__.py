"""Events on Kafka: the versioned schemas, the outbox relay, a tail, and the
embedded broker."""
