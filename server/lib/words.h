/*
 * words.h - lists of space-separated words (token scopes, enum values,
 * argument names to leave out). Every process.
 */
#ifndef MCPI_WORDS_H
#define MCPI_WORDS_H

/* 1 if word (non-empty) is one of the space-separated words in list. */
int words_contain(const char *list, const char *word);

#endif
