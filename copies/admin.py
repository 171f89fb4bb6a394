from django.contrib import admin

from copies.models import Event, RecurringOrderCopy

for model in (RecurringOrderCopy, Event):
    admin.site.register(model)
