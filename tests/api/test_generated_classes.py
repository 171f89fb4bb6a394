"""The classes generated from the declarations: DJA serializers and django-filter filter sets for every type.

The serializers' compiled plans must give exactly what DRF's own field-by-field `to_representation`
gives, and the links the renderer formats must be the URLs the routes reverse to.
"""

import pytest
from django.urls import reverse
from django_filters import FilterSet
from rest_framework.relations import ManyRelatedField
from rest_framework_json_api import serializers as dja

from api.conventions.filters import AttributeFilter, AttributesFilter, filterset_for
from api.registry import all_specs
from api.serializers import DocumentContext, RelationshipField, serializer_for
from tests.api.data import copy_of, market_with_model, subscription_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("spec", all_specs(), ids=lambda spec: spec.type)
def test_every_type_has_a_dja_serializer_with_its_declared_fields(spec):
    serializer_class = serializer_for(spec.type)
    assert issubclass(serializer_class, dja.Serializer)
    assert serializer_class.JSONAPIMeta.resource_name == spec.type
    fields = serializer_class.prototype_fields()
    assert set(fields) == {"id", "mode"} | {a.name for a in spec.attributes if not a.hidden} | spec.relationship_names
    for rel in spec.relationships:
        field = fields[rel.name]
        relation = field.child_relation if rel.many else field
        assert isinstance(field, ManyRelatedField if rel.many else RelationshipField)
        assert relation.self_link_view_name == f"{spec.type}-relationships"
        assert relation.related_link_view_name == f"{spec.type}-related"
    served = {rel.name for rel in spec.relationships if not rel.empty}
    assert set(serializer_class.included_serializers) == served
    for name in served:
        assert serializer_class.included_serializers[name] is serializer_for(spec.relationship_map[name].type)


@pytest.mark.parametrize("spec", all_specs(), ids=lambda spec: spec.type)
def test_every_type_has_a_django_filter_filterset(spec):
    filterset = filterset_for(spec)
    assert issubclass(filterset, FilterSet)
    assert filterset._meta.model is spec.model
    for attr in spec.attributes:
        if attr.filterable:
            assert f"{attr.name}_eq" in filterset.base_filters or f"{attr.name}_jcont" in filterset.base_filters
        else:
            assert f"{attr.name}_eq" not in filterset.base_filters


def test_filters_are_one_per_attribute_and_predicate_and_joined_for_or():
    catalogue = filterset_for(serializer_for("order_subscriptions").spec).base_filters
    single = catalogue["source_order_number_eq"]
    assert isinstance(single, AttributeFilter)
    assert single.field_name == "source_order__number"
    combined = catalogue["number_or_customer_email_cont"]
    assert isinstance(combined, AttributesFilter)
    assert [part.field_name for part in combined.parts] == ["number", "customer_email"]
    assert "status_true" not in catalogue  # a predicate that does not apply to the attribute's type
    assert "schedule_anchor_lt" not in catalogue  # a column that is not declared filterable
    assert "market_code_eq" in set(catalogue)  # iterating lists the single-attribute keys


def test_filter_values_are_validated_by_the_filter_forms():
    filterset_class = filterset_for(serializer_for("order_subscriptions").spec)
    bound = filterset_class({"errors_count_gt": "many", "created_at_lt": "2020-01-01"})
    assert not bound.is_valid()
    assert set(bound.errors) == {"errors_count_gt"}
    assert filterset_class({"created_at_lt": "2020-01-01", "status_in": "active,inactive"}).is_valid()


def _rows(serializer_class, queryset):
    return list(queryset.values(*serializer_class.columns_for()))


def test_compiled_plans_give_what_drf_fields_give():
    subscription = subscription_in()
    copy_of(subscription, errors_log={"status": ["cannot transition from draft to placed"]})
    market_with_model()
    document = DocumentContext(base_url="http://testserver/api/", mode="test")
    checked = 0
    for spec in all_specs():
        serializer_class = serializer_for(spec.type)
        serializer = serializer_class(context={"document": document})
        for row in _rows(serializer_class, spec.base_queryset("test"))[:3]:
            # The body of DRF's Serializer.to_representation, for attributes, id and mode (relationships
            # are links, plus linkage when included, which the plan takes from the include loader).
            expected = {}
            for field in serializer._readable_fields:
                if field.field_name not in spec.relationship_names:
                    attribute = field.get_attribute(row)
                    expected[field.field_name] = None if attribute is None else field.to_representation(attribute)
            assert serializer.to_representation(row) == expected, spec.type
            checked += 1
    assert checked >= 10


def test_the_links_the_renderer_formats_are_the_routes(api):
    subscription = subscription_in()
    resource = api.get(f"/api/order_subscriptions/{subscription.id}").json_body["data"]
    assert (
        resource["links"]["self"] == f"http://testserver{reverse('order_subscriptions-detail', args=[subscription.id])}"
    )
    for name, relationship in resource["relationships"].items():
        kwargs = {"pk": subscription.id, "related_field": name}
        assert relationship["links"] == {
            "self": f"http://testserver{reverse('order_subscriptions-relationships', kwargs=kwargs)}",
            "related": f"http://testserver{reverse('order_subscriptions-related', kwargs=kwargs)}",
        }
