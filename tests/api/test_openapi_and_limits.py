"""The published schema documents every operation, and rate limits answer 429."""

import httpx

from api.ratelimit import RateLimiter


def test_every_operation_has_a_summary_errors_and_example_bodies(gateway):
    schema = httpx.get(f"{gateway.base_url}/openapi.json").json()
    assert httpx.get(f"{gateway.base_url}/docs").status_code == 200
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), where
            if path.startswith("/v1/"):
                assert "401" in operation["responses"], where
                problem = operation["responses"]["401"]["content"]["application/problem+json"]
                assert "code" in problem["schema"]["properties"], where
            if method in ("post", "put") and "requestBody" in operation:
                # JSON bodies and multipart forms (file uploads) alike are models with examples.
                for media_type, content in operation["requestBody"]["content"].items():
                    assert media_type in ("application/json", "multipart/form-data"), where
                    ref = content["schema"]["$ref"]
                    model = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
                    assert model.get("examples"), f"{where} has no example body"


def test_bearer_scheme_is_published_so_the_docs_page_can_authorize(gateway):
    schema = httpx.get(f"{gateway.base_url}/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_token_bucket_refuses_beyond_the_burst_and_says_when_to_retry():
    limiter = RateLimiter(per_minute=60, burst=3)
    assert [limiter.acquire("key") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("key")
    assert 0 < wait <= 1.0
    assert limiter.acquire("other key") == 0.0


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(gateway, tmp_path):
    from api.store import GatewayStore
    from scf_chain.chain import free_port
    from scf_chain.keys import anvil_account
    from scf_chain.settings import Settings
    from tests.api.conftest import Api, GatewayProcess

    env = {**gateway.env, "SCF_DATA_DIR": str(tmp_path), "SCF_RATE_LIMIT_PER_MINUTE": "6", "SCF_RATE_LIMIT_BURST": "3"}
    limited = GatewayProcess(f"http://127.0.0.1:{free_port()}", tmp_path, gateway.chain, env)
    limited.start()
    try:
        store = GatewayStore(Settings(data_dir=tmp_path).gateway_db_path)
        api = Api(limited.base_url, store.create_api_key(anvil_account(0).address))
        store.close()
        statuses = [api.get("/v1/me").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = api.get("/v1/me")
        assert refused.json()["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
    finally:
        limited.stop()
