"""Placeholder, replaced below."""

from django.http import JsonResponse
from django.views import View


class OpenApiView(View):
    def get(self, request):
        return JsonResponse({})


class ReferenceView(OpenApiView):
    pass
