-- Transactional outbox (libs/kafka/outbox.h, kOutboxDdl): events written with the change that
-- caused them, published to Kafka by the relay.
CREATE TABLE outbox (
  id           BIGSERIAL PRIMARY KEY,
  event_id     UUID NOT NULL UNIQUE,
  topic        TEXT NOT NULL,
  event_key    TEXT NOT NULL,
  payload      BYTEA NOT NULL,
  headers      JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  published_at TIMESTAMPTZ
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
