# Week 2's data lake on GCP: the lake bucket (raw vs processed lifecycles) and BigQuery external tables over it.
# The layout is the one `zoomcamp lake ingest` writes: <type>/year=YYYY/month=MM/<type>_tripdata_YYYY-MM.parquet.
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

resource "google_storage_bucket" "lake" {
  name          = "${var.project}-${var.bucket_suffix}"
  location      = var.region
  storage_class = "STANDARD"
  force_destroy = true

  uniform_bucket_level_access = true

  # Raw downloads can always be fetched again: delete them after a while.
  lifecycle_rule {
    action {
      type = "Delete"
    }
    condition {
      age            = var.raw_retention_days
      matches_prefix = ["raw/"]
    }
  }

  # Processed parquet is the lake itself: keep it, but move it to a cheaper class once it is rarely read.
  lifecycle_rule {
    action {
      type          = "SetStorageClass"
      storage_class = "NEARLINE"
    }
    condition {
      age                   = var.processed_nearline_days
      matches_prefix        = [for t in var.trip_types : "${t}/"]
      matches_storage_class = ["STANDARD"]
    }
  }

  # Uploads interrupted half way (the lake's _incoming/ folder) are never needed.
  lifecycle_rule {
    action {
      type = "Delete"
    }
    condition {
      age            = 1
      matches_prefix = ["_incoming/"]
    }
  }
}

resource "google_bigquery_dataset" "trips" {
  dataset_id                 = var.bq_dataset
  location                   = var.region
  delete_contents_on_destroy = true
}

# One external table per trip type: BigQuery reads the parquet files in place, and the year=/month= folders become
# partition columns it prunes on (hive partitioning).
resource "google_bigquery_table" "external_trips" {
  for_each            = toset(var.trip_types)
  dataset_id          = google_bigquery_dataset.trips.dataset_id
  table_id            = "external_${each.value}_tripdata"
  deletion_protection = false

  external_data_configuration {
    autodetect    = true
    source_format = "PARQUET"
    source_uris   = ["gs://${google_storage_bucket.lake.name}/${each.value}/*"]

    hive_partitioning_options {
      mode                     = "CUSTOM"
      source_uri_prefix        = "gs://${google_storage_bucket.lake.name}/${each.value}/{year:INTEGER}/{month:INTEGER}"
      require_partition_filter = false
    }
  }
}
