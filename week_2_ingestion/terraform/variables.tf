variable "project" {
  description = "Your GCP project id (no default: every student has their own)"
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project))
    error_message = "A GCP project id is 6-30 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region for the bucket and the dataset"
  type        = string
  default     = "europe-west1"
}

variable "bucket_suffix" {
  description = "The lake bucket is named <project>-<suffix> (bucket names are global); set gcs_bucket to it"
  type        = string
  default     = "data-lake"
}

variable "trip_types" {
  description = "The lake's datasets (top-level folders), one external table each"
  type        = list(string)
  default     = ["yellow", "green"]

  validation {
    condition     = alltrue([for t in var.trip_types : contains(["yellow", "green", "fhv", "fhvhv"], t)])
    error_message = "trip_types are among yellow, green, fhv and fhvhv."
  }
}

variable "raw_retention_days" {
  description = "Delete raw downloads (raw/) after this many days"
  type        = number
  default     = 30

  validation {
    condition     = var.raw_retention_days >= 1
    error_message = "raw_retention_days must be at least 1."
  }
}

variable "processed_nearline_days" {
  description = "Move processed parquet to NEARLINE storage after this many days"
  type        = number
  default     = 90

  validation {
    condition     = var.processed_nearline_days >= 30
    error_message = "NEARLINE has a 30-day minimum storage duration: use at least 30."
  }
}

variable "bq_dataset" {
  description = "BigQuery dataset for the external tables (the course's bq_dataset setting)"
  type        = string
  default     = "trips_data_all"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]{1,1024}$", var.bq_dataset))
    error_message = "A dataset id has only letters, digits and underscores."
  }
}
