from django.core.management.base import BaseCommand

from copies.staff_groups import staff_groups_ensure


class Command(BaseCommand):
    help = "Create (or reset) the back-office staff groups, e.g. 'support' (view everything, retry copies)."

    def handle(self, *args, **options):
        group = staff_groups_ensure()
        self.stdout.write(f"Group {group.name!r}: {group.permissions.count()} permissions.")
