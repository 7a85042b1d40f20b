-- SQLite schema, version 5: a nonce as a 64-bit hash of its key and text (osm_nonce_hash), the rowid:
-- rows of some 20 bytes instead of 70, so the random page each new nonce
-- lands in is one of a quarter as many, and a checkpoint copies fewer of
-- them. The live nonces are kept.
-- Append-only: a released version never changes (stores in the field are at it).
CREATE TABLE nonce_seen(h INTEGER PRIMARY KEY, expires INTEGER NOT NULL);
CREATE INDEX nonce_seen_by_expiry ON nonce_seen(expires);
INSERT OR IGNORE INTO nonce_seen SELECT osm_nonce_hash(key_id, nonce), expires FROM nonces;
DROP TABLE nonces;
