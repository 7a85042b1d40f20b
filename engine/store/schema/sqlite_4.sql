-- SQLite schema, version 4: the generation of the access keys, bumped by every change of a key, so
-- that a server may keep key rows in memory and check them with the nonce it
-- writes anyway.
-- Append-only: a released version never changes (stores in the field are at it).
CREATE TABLE keys_generation(n INTEGER NOT NULL);
INSERT INTO keys_generation VALUES(0);
CREATE TRIGGER api_keys_gen_insert AFTER INSERT ON api_keys BEGIN UPDATE keys_generation SET n=n+1; END;
CREATE TRIGGER api_keys_gen_update AFTER UPDATE ON api_keys BEGIN UPDATE keys_generation SET n=n+1; END;
CREATE TRIGGER api_keys_gen_delete AFTER DELETE ON api_keys BEGIN UPDATE keys_generation SET n=n+1; END;
