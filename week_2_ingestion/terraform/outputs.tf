output "lake_url" {
  description = "Set this as the course's lake: ZOOMCAMP_LAKE_URL (with ZOOMCAMP_BACKEND=gcp)"
  value       = "gs://${google_storage_bucket.lake.name}"
}

output "external_tables" {
  description = "BigQuery external tables over the lake"
  value       = [for t in google_bigquery_table.external_trips : "${t.project}.${t.dataset_id}.${t.table_id}"]
}
