-- Captcha challenges (libs/captcha_issuer). Shared by every service that shows a captcha:
-- add "//libs/captcha_issuer:migrations" to the service's cc_embed srcs (version 0900 reserved).
CREATE TABLE captchas (
  captcha_id  TEXT PRIMARY KEY,
  answer_hmac TEXT        NOT NULL,
  expires_at  TIMESTAMPTZ NOT NULL,
  used_at     TIMESTAMPTZ
);
CREATE INDEX captchas_expires ON captchas (expires_at);
