-- The trust anchors sigverify instances have loaded (one row per certificate, refreshed at each
-- start-up): what operators check to know which roots production trusts.
CREATE TABLE trust_anchors (
  fingerprint_sha256 TEXT        PRIMARY KEY CHECK (fingerprint_sha256 ~ '^[0-9a-f]{64}$'),
  subject            TEXT        NOT NULL,
  not_after          TIMESTAMPTZ NOT NULL,
  loaded_at          TIMESTAMPTZ NOT NULL
);
