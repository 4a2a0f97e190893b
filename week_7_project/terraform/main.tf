# The reference project on GCP: the lake bucket, the raw dataset with one partitioned and clustered table per taxi
# type (what `zoomcamp project run` loads with backend = "gcp"), and the dataset dbt's prod target builds into.
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

locals {
  # Each taxi type's pickup column: the table is partitioned by its day.
  pickup_column = {
    green  = "lpep_pickup_datetime"
    yellow = "tpep_pickup_datetime"
  }
}

resource "google_storage_bucket" "lake" {
  name                        = "${var.project}-${var.bucket_suffix}"
  location                    = var.region
  storage_class               = "STANDARD"
  force_destroy               = true
  uniform_bucket_level_access = true

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

resource "google_bigquery_dataset" "raw" {
  dataset_id                 = var.raw_dataset
  location                   = var.region
  delete_contents_on_destroy = true
}

resource "google_bigquery_dataset" "production" {
  dataset_id                 = var.dbt_dataset
  location                   = var.region
  delete_contents_on_destroy = true
}

# The raw trips, loaded month by month from the lake. Partitioned by pickup day: the dashboard and dbt read whole
# days and months, and replacing a month touches only its partitions. Clustered by pickup zone: the categorical tile
# groups by it, so BigQuery reads fewer blocks. `year` and `month` say which month of the lake a row came from.
resource "google_bigquery_table" "trips" {
  for_each            = local.pickup_column
  dataset_id          = google_bigquery_dataset.raw.dataset_id
  table_id            = "${each.key}_tripdata"
  deletion_protection = false
  schema              = file("${path.module}/schemas/${each.key}_tripdata.json")

  time_partitioning {
    type  = "DAY"
    field = each.value
  }

  clustering = ["PULocationID"]
}
