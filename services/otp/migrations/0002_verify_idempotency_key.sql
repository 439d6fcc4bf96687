-- VerifyOtp idempotency: the key the consuming step gave (NULL when none). A retry of that step
-- with the same key and the correct code, before expires_at, is answered success again.
ALTER TABLE otp_challenges ADD COLUMN used_key text
  CHECK (used_key IS NULL OR (used_key <> '' AND length(used_key) <= 128));
