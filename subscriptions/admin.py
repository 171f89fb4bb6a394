from django.contrib import admin

from subscriptions.models import OrderSubscription, OrderSubscriptionItem, SubscriptionModel

for model in (SubscriptionModel, OrderSubscription, OrderSubscriptionItem):
    admin.site.register(model)
