def test_login_page_renders(client):
    resp = client.get("/login")
    assert resp.status_code == 200
    assert "Sign in" in resp.get_data(as_text=True)


def test_admin_can_sign_in_and_see_users_page(client, admin_a, login_as):
    login_as(admin_a)
    resp = client.get("/alpha/settings/users")
    assert resp.status_code == 200
    assert "admin@alpha.example.org" in resp.get_data(as_text=True)
