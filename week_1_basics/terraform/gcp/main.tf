# The course's cloud resources on GCP: a data-lake bucket and a BigQuery dataset.
# Credentials: Application Default Credentials (`gcloud auth application-default login`); no key file here.
terraform {
  required_version = ">= 1.5"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }
}

provider "google" {
  project = var.project
  region  = var.region
}

resource "google_storage_bucket" "data_lake" {
  name          = "${var.project}-${var.bucket_suffix}"
  location      = var.region
  storage_class = var.storage_class
  force_destroy = true

  uniform_bucket_level_access = true

  # Keep earlier versions of an object, so an overwritten month can be recovered.
  versioning {
    enabled = true
  }

  # Raw files are only needed for a while: delete objects older than the retention period.
  lifecycle_rule {
    action {
      type = "Delete"
    }
    condition {
      age = var.retention_days
    }
  }
}

resource "google_bigquery_dataset" "trips" {
  dataset_id                 = var.bq_dataset
  location                   = var.region
  delete_contents_on_destroy = true
}
