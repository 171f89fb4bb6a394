"""`python manage.py create_api_credentials NAME [--kind integration|sales_channel] [--mode test|live]`."""

from django.core.management.base import BaseCommand, CommandParser

from api.models import CredentialKind
from api.services import api_credential_create
from orders.base import Mode


class Command(BaseCommand):
    help = "Create API credentials and print their client id and secret (the secret is shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--kind", choices=CredentialKind.values, default=CredentialKind.INTEGRATION)
        parser.add_argument("--mode", choices=Mode.values, default=Mode.TEST)

    def handle(self, *args, name: str, kind: str, mode: str, **options) -> None:
        issued = api_credential_create(name=name, kind=kind, mode=mode)
        self.stdout.write(f"name:          {issued.credential.name}")
        self.stdout.write(f"kind:          {issued.credential.kind}")
        self.stdout.write(f"mode:          {issued.credential.mode}")
        self.stdout.write(f"client_id:     {issued.client_id}")
        if issued.client_secret:
            self.stdout.write(f"client_secret: {issued.client_secret}")
            self.stdout.write(self.style.WARNING("Store the secret now: only its hash is kept."))
