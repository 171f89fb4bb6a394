"""Loading what `include=...` asks for: one query per include path, whatever the number of rows.

This is the API's `prefetch_for_includes`. DJA's `PreloadIncludesMixin` and `AutoPrefetchMixin` hand
Django `select_related` / `prefetch_related` paths on model attributes; ours are declared
relationships, some of which are not model relations (`events` of a resource, `subscription_model`
through the market, `order_factories` over the copies table), so the rows are read with `.values()`
per relationship, in the token's mode, from the serializers' own column lists.
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from api.conventions.query import IncludeTree
from api.registry import Rel

if TYPE_CHECKING:
    from api.serializers import ResourceSerializer

Row = dict[str, Any]
Key = tuple[str, str]


class Included:
    """The resources one document includes, and the linkage of every relationship that was included.

    `linkage[(type, id)][relationship]` is what that resource's relationship shows as `data`;
    `resources` keeps each included resource once, in the order it was loaded.
    """

    __slots__ = ("linkage", "resources")

    def __init__(self) -> None:
        self.linkage: dict[Key, dict[str, Any]] = defaultdict(dict)
        self.resources: dict[Key, tuple[type[ResourceSerializer], Row]] = {}

    def load(self, serializer_class: type["ResourceSerializer"], rows: Sequence[Row], tree: IncludeTree,
             mode: str) -> None:  # fmt: skip
        if not tree or not rows:
            return
        spec = serializer_class.spec
        for name, subtree in tree.items():
            rel = spec.relationship_map[name]
            target_class = None if rel.empty else serializer_class.included_serializers.get(name)
            children = self._load_relationship(spec.type, rel, target_class, rows, mode, subtree)
            if target_class is not None and subtree:
                self.load(target_class, children, subtree, mode)

    def _load_relationship(
        self,
        resource_type: str,
        rel: Rel,
        target_class: type["ResourceSerializer"] | None,
        rows: Sequence[Row],
        mode: str,
        subtree: IncludeTree,
    ) -> list[Row]:
        linkage = self.linkage
        if target_class is None:
            # A relationship this back-office holds nothing for: included, and empty.
            for row in rows:
                linkage[(resource_type, row["id"])][rel.name] = [] if rel.many else None
            return []
        target = target_class.spec
        columns = target_class.columns_for(subtree)
        if not rel.many:
            ids = {row[rel.column] for row in rows if row[rel.column] is not None}
            children = list(target.base_queryset(mode).filter(pk__in=ids).values(*columns)) if ids else []
            found = {child["id"] for child in children}
            for row in rows:
                related_id = row[rel.column]
                linkage[(resource_type, row["id"])][rel.name] = (
                    {"type": target.type, "id": related_id} if related_id is not None and related_id in found else None
                )
        else:
            parent_ids = [row["id"] for row in rows]
            columns = columns if rel.reverse in columns else (*columns, rel.reverse)
            children = list(
                target.base_queryset(mode)
                .filter(**{f"{rel.reverse}__in": parent_ids}, **rel.reverse_filter)
                .order_by(*target.default_sort, "id")
                .values(*columns)
            )
            grouped: dict[str, list] = defaultdict(list)
            for child in children:
                grouped[child[rel.reverse]].append({"type": target.type, "id": child["id"]})
            for row in rows:
                linkage[(resource_type, row["id"])][rel.name] = grouped.get(row["id"], [])
        for child in children:
            self.resources.setdefault((target.type, child["id"]), (target_class, child))
        return children
