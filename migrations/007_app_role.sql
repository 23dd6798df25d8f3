-- The role the service runs as: reads and writes rows, nothing else (no DDL, no other schemas, no roles).
-- Migrations keep running as the owner (the Aurora master user, or whoever owns the database); a login user
-- for the handlers is made a member of pos_app (`npm run migrate -- --app-user-secret <arn>`, README: Deploying).
-- Where the migrating user may not create roles, this does nothing and says so.
do $$
begin
  begin
    create role pos_app nologin;
  exception
    when duplicate_object or unique_violation then null; -- another database of this server made it first
    when insufficient_privilege then
      raise notice 'pos_app not created: the migrating user may not create roles; the service then runs as the user it connects as';
      return;
  end;
  execute format('grant connect, temporary on database %I to pos_app', current_database());
  grant usage on schema public to pos_app;
  grant select, insert, update, delete on all tables in schema public to pos_app;
  grant usage, select on all sequences in schema public to pos_app;
  -- Tables and sequences later migrations create (as the same owner) come with the same rights.
  alter default privileges in schema public grant select, insert, update, delete on tables to pos_app;
  alter default privileges in schema public grant usage, select on sequences to pos_app;
end
$$;

-- The migrations' own bookkeeping stays the owner's.
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'pos_app') then
    revoke all on schema_migrations from pos_app;
  end if;
end
$$;
