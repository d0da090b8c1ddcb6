/// <summary>
/// Every figure <c>BenchReport</c> writes into bench/results/latest.json, by name. Kept apart so that the test of the
/// tiny run (tests/CafConnect.IdP.Tests/Operations/BenchmarkSmokeTests.cs, which links this file) checks the same list.
/// </summary>
public static class BenchFigures
{
    public static readonly string[] Names =
    [
        "client_credentials_peak_per_second", "client_credentials_peer_peak_per_second", "client_credentials_ratio_to_peer",
        "client_credentials_pbkdf2_peak_per_second", "client_credentials_keyed_to_pbkdf2_ratio", "client_credentials_p99_ms_at_half_peak",
        "refresh_public_peak_per_second", "refresh_public_peer_peak_per_second", "refresh_public_ratio_to_peer", "refresh_public_p99_ms_at_half_peak",
        "refresh_confidential_peak_per_second", "refresh_confidential_peer_peak_per_second", "refresh_confidential_ratio_to_peer", "refresh_confidential_p99_ms_at_half_peak",
        "login_posts_per_second", "hashing_limit_per_second", "login_posts_ratio_to_hashing_limit", "login_post_concurrency", "hashing_parallelism",
        "sign_ins_per_second", "sign_ins_ratio_to_hashing_limit",
        "server_cpu_ms_per_login", "cpu_ms_per_hash", "cpu_per_login_to_hash_ratio",
        "server_cpu_ms_per_login_post", "login_post_cpu_to_hash_ratio", "server_cpu_ms_per_login_pages", "server_cpu_ms_per_login_code_and_token",
        "rss_bytes_per_session", "managed_heap_bytes_per_session", "pg_bytes_per_session",
        "scale_small_persons", "scale_large_persons", "scale_large_tokens", "scale_client_credentials_ratio", "scale_refresh_ratio", "scale_login_posts_ratio", "scale_sign_ins_ratio", "scale_login_cpu_ratio",
        "scale_client_credentials_cpu_ratio", "scale_refresh_cpu_ratio",
    ];
}
