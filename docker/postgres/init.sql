-- One database per app, as each app owns its schema (its migrations run at
-- its start). Runs once, when the PostgreSQL volume is first initialised.
CREATE DATABASE auth;
CREATE DATABASE orders;
CREATE DATABASE payments;
