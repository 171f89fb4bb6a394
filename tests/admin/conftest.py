import pytest

from tests.admin.builders import support_user


@pytest.fixture
def support_client(client, db):
    client.force_login(support_user())
    return client
