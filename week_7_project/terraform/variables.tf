variable "project" {
  description = "Your GCP project ID (also [gcp] project in zoomcamp.toml)"
  type        = string
}

variable "region" {
  description = "Where the bucket and the datasets live"
  type        = string
  default     = "europe-west1"
}

variable "bucket_suffix" {
  description = "The lake bucket is <project>-<suffix> (bucket names are global)"
  type        = string
  default     = "zoomcamp-lake"
}

variable "raw_dataset" {
  description = "The raw tables' dataset (bq_dataset in zoomcamp.toml; dbt's sources read it)"
  type        = string
  default     = "trips_data_all"
}

variable "dbt_dataset" {
  description = "Where dbt's prod target builds the models and the dashboard's tables (DBT_BQ_DATASET)"
  type        = string
  default     = "production"
}
