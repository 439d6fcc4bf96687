-- otp_send_keys rows only serialise concurrent sends under one key (they are locked, never read
-- for data), and otp_sends are counted by key text. The foreign key from otp_sends cost a
-- lookup and a row lock on every recorded send (two per login) and bought nothing: the purge
-- deletes old sends itself, then the keys left without sends. Without it, a key purged while a
-- send is being recorded under it can no longer take the new send rows with it (ON DELETE
-- CASCADE did): the rows stay and keep counting; the next send re-creates the key.
ALTER TABLE otp_sends DROP CONSTRAINT otp_sends_key_fkey;
