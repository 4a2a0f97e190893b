output "bucket" {
  description = "The data-lake bucket: set it as [gcs] bucket in zoomcamp.toml"
  value       = google_storage_bucket.data_lake.name
}

output "bq_dataset" {
  description = "The BigQuery dataset"
  value       = google_bigquery_dataset.trips.dataset_id
}
