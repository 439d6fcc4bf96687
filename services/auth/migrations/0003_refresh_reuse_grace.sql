-- Grace window for refresh-token reuse (LGN-8, README "Tokens and sessions"): a token rotated
-- moments ago may be presented again (lost response, two tabs) while its successor is unused.
--   replaced_by    HMAC of the token that replaced this one (its current successor); set with
--                  used_at. NULL for tokens rotated before this migration (no grace for them).
--   superseded_at  set when a grace replay replaced this unused token by another: it can never
--                  be used, and presenting it is a reuse (the session is revoked).
ALTER TABLE refresh_tokens ADD COLUMN replaced_by TEXT, ADD COLUMN superseded_at TIMESTAMPTZ;
