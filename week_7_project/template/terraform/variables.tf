variable "project" {
  description = "Your GCP project ID"
  type        = string
}

variable "region" {
  description = "Where the bucket and the dataset live"
  type        = string
  default     = "europe-west1"
}

variable "bucket_suffix" {
  description = "The bucket is <project>-<suffix> (bucket names are global)"
  type        = string
  default     = "project-lake"
}

variable "dataset" {
  description = "The BigQuery dataset of the raw tables"
  type        = string
  default     = "raw"
}
