from django.contrib import admin

from orders.models import Address, Customer, CustomerPaymentSource, LineItem, Market, Order

for model in (Market, Customer, Address, CustomerPaymentSource, Order, LineItem):
    admin.site.register(model)
