output "lake_url" {
  description = "Set lake_url (or [gcs] bucket) in zoomcamp.toml to this"
  value       = "gs://${google_storage_bucket.lake.name}"
}

output "raw_tables" {
  description = "The partitioned, clustered raw tables"
  value       = [for t in google_bigquery_table.trips : "${t.project}.${t.dataset_id}.${t.table_id}"]
}
