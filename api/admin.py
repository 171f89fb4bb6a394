"""API credentials in the admin: creating one shows its client secret once; tokens can be revoked in bulk."""

from django.contrib import admin, messages

from api.models import ApiCredential
from api.services import api_credential_create, api_credential_revoke_tokens


@admin.register(ApiCredential)
class ApiCredentialAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "mode", "client_id", "created_at")
    list_filter = ("kind", "mode")
    search_fields = ("name", "application__client_id")
    readonly_fields = ("client_id", "created_at")
    actions = ("revoke_tokens",)

    def get_readonly_fields(self, request, obj=None):
        # Kind and mode are part of what a credential is: tokens already issued carry them.
        return (*self.readonly_fields, "kind", "mode") if obj is not None else self.readonly_fields

    @admin.display(description="Client id")
    def client_id(self, obj: ApiCredential) -> str:
        return obj.application.client_id if obj.pk else "—"

    def save_model(self, request, obj: ApiCredential, form, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        issued = api_credential_create(name=obj.name, kind=obj.kind, mode=obj.mode)
        obj.pk = issued.credential.pk
        obj.application = issued.credential.application
        obj._state.adding = False
        secret = issued.client_secret or "(none: sales channels are public clients)"
        self.message_user(
            request,
            f"Client id: {issued.client_id} · Client secret: {secret} — copy the secret now, it is not shown again.",
            messages.WARNING,
        )

    @admin.action(description="Revoke every access token of the selected credentials")
    def revoke_tokens(self, request, queryset) -> None:
        revoked = sum(api_credential_revoke_tokens(credential) for credential in queryset)
        self.message_user(request, f"{revoked} access token(s) revoked.")
