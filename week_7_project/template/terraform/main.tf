# Your project's cloud resources. `terraform init && terraform apply -var project=YOUR_PROJECT`.
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
  name                        = "${var.project}-${var.bucket_suffix}"
  location                    = var.region
  force_destroy               = true
  uniform_bucket_level_access = true
}

resource "google_bigquery_dataset" "raw" {
  dataset_id = var.dataset
  location   = var.region
}

# TODO: the warehouse table, partitioned and clustered for your queries, e.g.
# resource "google_bigquery_table" "trips" {
#   dataset_id = google_bigquery_dataset.raw.dataset_id
#   table_id   = "trips"
#   schema     = file("${path.module}/schema.json")
#   time_partitioning {
#     type  = "DAY"
#     field = "pickup_datetime"
#   }
#   clustering = ["PULocationID"]
# }
