-- Auth service schema: login flows, throttles, login history, sessions and refresh tokens.
-- No ID numbers, passwords, OTPs or tokens are stored: throttle keys use blind indexes and
-- refresh tokens are kept only as HMAC-SHA256.

CREATE TABLE login_flows (
  flow_id      UUID PRIMARY KEY,
  account_id   UUID        NOT NULL,
  ial          SMALLINT    NOT NULL,
  challenge_id TEXT        NOT NULL,
  client_ip    TEXT        NOT NULL DEFAULT '',
  user_agent   TEXT        NOT NULL DEFAULT '',
  device       TEXT        NOT NULL DEFAULT '',
  created_at   TIMESTAMPTZ NOT NULL,
  expires_at   TIMESTAMPTZ NOT NULL,
  completed_at TIMESTAMPTZ
);
CREATE INDEX login_flows_expires ON login_flows (expires_at);

-- Password-guessing counters, keyed "pair:<identifier index>:<ip>" / "id:<identifier index>".
CREATE TABLE login_throttles (
  key             TEXT PRIMARY KEY,
  failures        INT         NOT NULL DEFAULT 0,
  blocked_until   TIMESTAMPTZ,
  last_failure_at TIMESTAMPTZ,
  last_success_at TIMESTAMPTZ,
  updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX login_throttles_updated ON login_throttles (updated_at);

-- Fixed-window request counters (per-IP login ceiling).
CREATE TABLE rate_windows (
  key          TEXT        NOT NULL,
  window_start TIMESTAMPTZ NOT NULL,
  count        INT         NOT NULL,
  PRIMARY KEY (key, window_start)
);

-- ACC-3 / X-4: one row per login attempt that reached a known account.
CREATE TABLE login_history (
  id             BIGSERIAL PRIMARY KEY,
  account_id     UUID        NOT NULL,
  at             TIMESTAMPTZ NOT NULL,
  method         TEXT        NOT NULL,
  success        BOOLEAN     NOT NULL,
  failure_reason TEXT        NOT NULL DEFAULT '',
  client_ip      TEXT        NOT NULL DEFAULT '',
  user_agent     TEXT        NOT NULL DEFAULT '',
  device         TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX login_history_account_at ON login_history (account_id, at DESC, id DESC);

CREATE TABLE sessions (
  session_id    UUID PRIMARY KEY,
  account_id    UUID        NOT NULL,
  ial           SMALLINT    NOT NULL,
  amr           TEXT        NOT NULL,   -- space-separated methods, e.g. "pwd otp"
  auth_time     TIMESTAMPTZ NOT NULL,
  created_at    TIMESTAMPTZ NOT NULL,
  expires_at    TIMESTAMPTZ NOT NULL,   -- absolute limit
  revoked_at    TIMESTAMPTZ,
  revoke_reason TEXT,
  client_ip     TEXT        NOT NULL DEFAULT '',
  user_agent    TEXT        NOT NULL DEFAULT '',
  device        TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Each refresh token belongs to a family = its session; used_at is set when rotated.
CREATE TABLE refresh_tokens (
  token_hmac      TEXT PRIMARY KEY,
  session_id      UUID        NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
  created_at      TIMESTAMPTZ NOT NULL,
  idle_expires_at TIMESTAMPTZ NOT NULL,
  used_at         TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
