enum KubeClientModule {}
