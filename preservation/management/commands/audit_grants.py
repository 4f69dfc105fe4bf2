"""Give the application's database role what it needs and no more on the audit table: INSERT
and SELECT only (docs/security.md "Database roles"). Run it as the role that owns the tables
(the one that runs migrations), after every migrate; the app then connects as ``--app-role``."""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils.translation import gettext as _

AUDIT_TABLE = "preservation_auditrecord"
AUDIT_APPEND_FUNCTION = ("preservation_audit_append(text, text, timestamptz, bigint, text, bigint, text, text, "
                         "text, text, inet, text, text, text)")


def grant_statements(role, audit_sequence):
    """The SQL, in order; docs/security.md shows the same statements."""
    quoted = connection.ops.quote_name(role)
    statements = [
        "GRANT USAGE ON SCHEMA public TO %s" % quoted,
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %s" % quoted,
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %s" % quoted,
        "REVOKE ALL ON TABLE %s FROM %s" % (AUDIT_TABLE, quoted),
        "GRANT SELECT, INSERT ON TABLE %s TO %s" % (AUDIT_TABLE, quoted),
        "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM %s" % quoted,
    ]
    if audit_sequence:
        statements.append("GRANT USAGE ON SEQUENCE %s TO %s" % (audit_sequence, quoted))
    # The one-statement append (migration 0163) runs with the caller's rights: EXECUTE is all it
    # adds, said here for databases whose functions are not executable by PUBLIC.
    statements.append("GRANT EXECUTE ON FUNCTION %s TO %s" % (AUDIT_APPEND_FUNCTION, quoted))
    return statements


class Command(BaseCommand):
    help = ("Restrict the application's database role on the audit table to INSERT and SELECT "
            "(PostgreSQL; run as the owner role after migrate).")

    def add_arguments(self, parser):
        parser.add_argument("--app-role", default=settings.DATABASE_APP_ROLE,
                            help="the role the application connects as (default: DATABASE_APP_ROLE)")
        parser.add_argument("--print", action="store_true", help="print the SQL instead of running it")

    def handle(self, *args, app_role, **options):
        if connection.vendor != "postgresql":
            raise CommandError(_("Database roles exist only on PostgreSQL."))
        if not app_role:
            raise CommandError(_("Name the application's role: --app-role or DATABASE_APP_ROLE."))
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, tableowner FROM pg_tables WHERE tablename = %s", [AUDIT_TABLE])
            current, owner = cursor.fetchone()
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [AUDIT_TABLE])
            sequence = cursor.fetchone()[0]
        if app_role in (current, owner):
            raise CommandError(
                _("The application's role %(role)s owns the tables or runs this command: give the "
                  "tables a separate owner role (docs/security.md) and connect the app as another role.")
                % {"role": app_role})
        statements = grant_statements(app_role, sequence)
        if options["print"]:
            self.stdout.write(";\n".join(statements) + ";")
            return
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(_("Role %(role)s may now only insert and read audit records.") % {"role": app_role})
