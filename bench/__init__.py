"""The HTTP benchmark (bench/httpbench.py) and its baseline views (bench/urls.py, mounted only with
EXPATDESK_BENCHMARK_URLS=true)."""
