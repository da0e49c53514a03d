enum SriovOperatorModule {}
