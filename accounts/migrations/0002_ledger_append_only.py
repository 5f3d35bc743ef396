from django.db import migrations

# The ledger is the truth about money: a posted entry is never edited or removed, a
# correction is a reversing entry. The trigger makes that true for every client of the
# database, not only for this application's code. (TRUNCATE, used only by test teardown
# and by a deliberate restore, does not fire row triggers.)
SQL = """
CREATE FUNCTION accounts_ledgerentry_guard() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'accounts_ledgerentry is append-only: % is not allowed; post a reversing entry instead', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounts_ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON accounts_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION accounts_ledgerentry_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS accounts_ledgerentry_append_only ON accounts_ledgerentry;
DROP FUNCTION IF EXISTS accounts_ledgerentry_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
