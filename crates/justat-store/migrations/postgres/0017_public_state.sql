-- What the public sees changes with the write transactions that may change it: each one
-- increases this number in the same commit (`Write::commit`), so a server keeping rendered
-- public pages knows, from one small read, whether any process has changed the public state
-- since it rendered them. Changes made by time alone (a release instant passing) are not
-- counted here: a server asks for the next such instant instead.
CREATE TABLE public_state (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO public_state (id, generation) VALUES (1, 0);
