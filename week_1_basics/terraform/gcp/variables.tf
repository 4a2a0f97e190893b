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
  description = "The bucket is named <project>-<suffix> (bucket names are global)"
  type        = string
  default     = "data-lake"
}

variable "storage_class" {
  description = "Storage class of the bucket"
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"], var.storage_class)
    error_message = "storage_class must be STANDARD, NEARLINE, COLDLINE or ARCHIVE."
  }
}

variable "retention_days" {
  description = "Delete lake objects older than this many days"
  type        = number
  default     = 30

  validation {
    condition     = var.retention_days >= 1
    error_message = "retention_days must be at least 1."
  }
}

variable "bq_dataset" {
  description = "BigQuery dataset for the raw trips (the course's bq_dataset setting)"
  type        = string
  default     = "trips_data_all"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]{1,1024}$", var.bq_dataset))
    error_message = "A dataset id has only letters, digits and underscores."
  }
}

variable "billing_account" {
  description = "Your billing account id, for the budget alert (none: no budget is created)"
  type        = string
  default     = null

  validation {
    condition     = var.billing_account == null || can(regex("^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$", var.billing_account))
    error_message = "A billing account id looks like 012345-6789AB-CDEF01 (gcloud billing accounts list)."
  }
}

variable "budget_amount" {
  description = "The monthly budget the alerts are measured against, in the billing account's currency"
  type        = number
  default     = 10

  validation {
    condition     = var.budget_amount > 0
    error_message = "budget_amount must be positive."
  }
}
