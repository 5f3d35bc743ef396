from django.db import migrations

# The PHI access log is evidence: nobody edits it, and rows are deleted only by the
# retention job once they are older than six years (45 CFR 164.316(b)(2)).
SQL = """
CREATE FUNCTION staff_phiaccesslog_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'staff_phiaccesslog is append-only: UPDATE is not allowed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.accessed_at > now() - interval '6 years' THEN
        RAISE EXCEPTION 'staff_phiaccesslog rows are kept for six years: DELETE of a younger row is not allowed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER staff_phiaccesslog_append_only
    BEFORE UPDATE OR DELETE ON staff_phiaccesslog
    FOR EACH ROW EXECUTE FUNCTION staff_phiaccesslog_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS staff_phiaccesslog_append_only ON staff_phiaccesslog;
DROP FUNCTION IF EXISTS staff_phiaccesslog_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("staff", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
