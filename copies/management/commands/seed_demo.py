"""Demo data in test mode, as a new Commerce Layer organization has: markets, customers with
wallets, placed orders, subscriptions in every status, and 30 days of renewal history with
completed and failed copies made by the real scheduler and copy engine."""

import random
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from copies.events import acting_as
from copies.models import CopyStatus, RecurringOrderCopy
from copies.services import _claim, recurring_order_copies_run
from copies.staff_groups import staff_groups_ensure
from orders.base import Mode
from orders.models import Address, Customer, CustomerPaymentSource, Market, Order, OrderStatus
from orders.services import line_item_create, order_create
from subscriptions.models import SubscriptionModel
from subscriptions.scheduler import subscriptions_run_due
from subscriptions.services import order_subscription_create, subscription_cancel, subscription_deactivate

DEMO_MARKET_CODE = "demo-eu"
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"  # demo only: printed by `make run`
SUPPORT_USERNAME = SUPPORT_PASSWORD = "support"  # demo only: a member of the "support" staff group

PRODUCTS = [
    ("COFFEE-BEANS-1KG", "Single-origin coffee beans, 1 kg", 2490),
    ("ESPRESSO-PODS-50", "Espresso pods, box of 50", 1590),
    ("OAT-MILK-6", "Oat milk, 6 x 1 l", 1199),
    ("GREEN-TEA-100", "Sencha green tea, 100 g", 990),
    ("DESCALER-2", "Machine descaler, 2 doses", 790),
    ("FILTERS-100", "Paper filters, pack of 100", 450),
]
FIRST_NAMES = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Guido", "Radia"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen"]


class Command(BaseCommand):
    help = "Load demo data (test mode) and a demo admin user; running it again changes nothing."

    def handle(self, *args, **options):
        self._ensure_admin()
        self._ensure_support_user()
        if Market.objects.filter(mode=Mode.TEST, code=DEMO_MARKET_CODE).exists():
            self.stdout.write("Demo data already loaded.")
        else:
            with acting_as({"kind": "seed_demo"}):
                self._seed()
        self.stdout.write(
            self.style.SUCCESS(
                f"Admin: http://127.0.0.1:8000/admin/  user {ADMIN_USERNAME!r}  password {ADMIN_PASSWORD!r}"
                f"  (support staff: {SUPPORT_USERNAME!r} / {SUPPORT_PASSWORD!r})"
            )
        )

    def _ensure_admin(self) -> None:
        user_model = get_user_model()
        if not user_model.objects.filter(username=ADMIN_USERNAME).exists():
            user_model.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)

    def _ensure_support_user(self) -> None:
        """The back-office's "support" group (view everything, retry copies) and a demo member."""
        group = staff_groups_ensure()
        user_model = get_user_model()
        if not user_model.objects.filter(username=SUPPORT_USERNAME).exists():
            user = user_model.objects.create_user(SUPPORT_USERNAME, "support@example.com", SUPPORT_PASSWORD)
            user.is_staff = True
            user.save(update_fields=["is_staff"])
            user.groups.add(group)

    def _seed(self) -> None:
        rng = random.Random(20261123)
        now = timezone.now().replace(second=0, microsecond=0)
        history_start = (now - timedelta(days=31)).replace(hour=8, minute=0)

        with transaction.atomic():
            model = SubscriptionModel.objects.create(
                mode=Mode.TEST,
                name="Coffee club",
                frequencies=["daily", "weekly", "two-month", "monthly", "0 9 * * 1"],
                auto_activate=True,
                auto_cancel=True,
            )
            europe = Market.objects.create(
                mode=Mode.TEST,
                name="Europe",
                code=DEMO_MARKET_CODE,
                currency_code="EUR",
                time_zone="Europe/Rome",
                subscription_model=model,
            )
            usa = Market.objects.create(
                mode=Mode.TEST, name="United States", code="demo-us", currency_code="USD", time_zone="America/New_York"
            )
            plans = [
                # (market, frequency, what happens to it)
                (europe, "daily", "healthy"),
                (europe, "daily", "card_expires"),
                (europe, "daily", "healthy"),
                (europe, "weekly", "healthy"),
                (europe, "weekly", "no_shipping_address"),
                (europe, "monthly", "healthy"),
                (europe, "0 9 * * 1", "healthy"),
                (europe, "two-month", "healthy"),
                (usa, "daily", "healthy"),
                (usa, "daily", "card_expires"),
                (usa, "weekly", "healthy"),
                (usa, "monthly", "healthy"),
                (usa, "30 * * * *", "healthy"),
                (usa, "yearly", "healthy"),
                (europe, "weekly", "deactivated"),
                (usa, "monthly", "cancelled"),
                (europe, "monthly", "draft"),
                (usa, "weekly", "running"),
            ]
            subscriptions = []
            for index, (market, frequency, fate) in enumerate(plans):
                customer, payment_source = self._customer(index, rng, now)
                placed_at = history_start + timedelta(minutes=7 * index)
                order = self._source_order(
                    market,
                    customer,
                    payment_source,
                    rng,
                    placed=fate != "draft",
                    with_shipping=fate != "no_shipping_address",
                    placed_at=placed_at,
                )
                subscription = order_subscription_create(source_order=order, frequency=frequency, now=placed_at)
                if fate == "card_expires":
                    payment_source.expires_at = now - timedelta(days=rng.randint(4, 12))
                    payment_source.save()
                subscriptions.append((subscription, fate))

        # Thirty days of history, one scheduler tick a day, run by the real engine at that time.
        day = history_start + timedelta(days=1)
        while day < now:
            self._tick(day)
            day += timedelta(days=1)
        self._tick(now - timedelta(minutes=5))

        for subscription, fate in subscriptions:
            if fate == "deactivated":
                subscription_deactivate(subscription)
            elif fate == "cancelled":
                subscription_cancel(subscription, reason="customer asked")
            elif fate == "running":
                self._leave_running(subscription, now)
        copies = RecurringOrderCopy.objects.count()
        self.stdout.write(f"Loaded {len(subscriptions)} subscriptions and {copies} recurring order copies.")

    @staticmethod
    def _tick(moment: datetime) -> None:
        with transaction.atomic():
            subscriptions_run_due(now=moment)
            pending = list(RecurringOrderCopy.objects.filter(status=CopyStatus.PENDING).values_list("id", flat=True))
            recurring_order_copies_run(pending, now=moment + timedelta(minutes=2))

    @staticmethod
    def _leave_running(subscription, now: datetime) -> None:
        """A copy a worker is on right now, so the demo shows the `running` status."""
        copy = RecurringOrderCopy.objects.create(
            mode=subscription.mode,
            order_subscription=subscription,
            source_order=subscription.source_order,
            enqueued_at=now,
        )
        _claim([copy.id], timezone.now())

    @staticmethod
    def _customer(index: int, rng: random.Random, now: datetime) -> tuple[Customer, CustomerPaymentSource]:
        first, last = FIRST_NAMES[index % len(FIRST_NAMES)], LAST_NAMES[index % len(LAST_NAMES)]
        customer = Customer.objects.create(mode=Mode.TEST, email=f"{first}.{last}{index}@example.com".lower())
        brand, last4 = rng.choice([("Visa", "4242"), ("Mastercard", "4444"), ("Amex", "0005")])
        payment_source = CustomerPaymentSource.objects.create(
            mode=Mode.TEST,
            customer=customer,
            name=f"{brand} •••• {last4}",
            payment_source_type="stripe_payments",
            payment_source_token=f"pm_demo_{index:04d}",
            expires_at=now + timedelta(days=rng.randint(200, 900)),
        )
        return customer, payment_source

    @staticmethod
    def _source_order(market, customer, payment_source, rng, *, placed: bool, with_shipping: bool, placed_at):
        first, last = customer.email.split("@")[0].rstrip("0123456789").split(".")
        address = Address.objects.create(
            mode=Mode.TEST,
            first_name=first.title(),
            last_name=last.title(),
            line_1=f"{rng.randint(1, 200)} {'Via Roma' if market.currency_code == 'EUR' else 'Main Street'}",
            city="Milano" if market.currency_code == "EUR" else "New York",
            zip_code="20121" if market.currency_code == "EUR" else "10001",
            country_code="IT" if market.currency_code == "EUR" else "US",
            phone="+39 02 1234567" if market.currency_code == "EUR" else "+1 212 555 0100",
        )
        shipping_address = address.copy() if with_shipping else None
        if shipping_address is not None:
            shipping_address.save()
        order = order_create(
            mode=Mode.TEST,
            market=market,
            customer=customer,
            billing_address=address,
            shipping_address=shipping_address,
            payment_source=payment_source,
        )
        for sku, name, price in rng.sample(PRODUCTS, rng.randint(2, 4)):
            line_item_create(order=order, sku_code=sku, name=name, quantity=rng.randint(1, 3), unit_amount_cents=price)
        if placed:
            Order.objects.filter(pk=order.pk).update(status=OrderStatus.PLACED, placed_at=placed_at)
            order.refresh_from_db()
        return order
